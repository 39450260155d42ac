${{ parameters.multiline | indent(2) }}
