${{ 'MiXeD' | lower }}
