${{ parameters.numbers | sum }} ${{ parameters.users | sum('age') }} ${{ parameters.numbers | sum(none, 10) }}
