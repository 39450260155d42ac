no expressions here
