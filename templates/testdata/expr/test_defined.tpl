${{ parameters.name is defined }}, ${{ parameters.missing is defined }}, ${{ parameters.missing is undefined }}
