{ ${{ parameters.name }} } {{ x }} {${{ parameters.replicas }}}
