{{ parameters.name }} stays ${{ parameters.name }}
