{% set greeting = 'hi ' ~ parameters.name %}${{ greeting }}!
