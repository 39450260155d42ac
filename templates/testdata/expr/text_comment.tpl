a{# a comment ${{ x }} #}b
