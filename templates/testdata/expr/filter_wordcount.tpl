${{ parameters.title | wordcount }}
