${{ parameters.numbers | sort(true) }}
