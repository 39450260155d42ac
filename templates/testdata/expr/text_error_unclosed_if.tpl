{% if parameters.name %}open
