${{ parameters.title | title }}
