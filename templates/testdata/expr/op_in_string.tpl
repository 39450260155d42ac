${{ 'serv' in parameters.name }}
