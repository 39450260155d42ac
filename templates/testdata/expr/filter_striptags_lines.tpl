${{ 'a  <i>b</i>\n\n\n\nc' | striptags(true) }}
