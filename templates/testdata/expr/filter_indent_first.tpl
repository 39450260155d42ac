${{ parameters.multiline | indent(4, true) }}
