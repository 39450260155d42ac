${{ {name: parameters.name, 'count': 2, list: [1]} }}
