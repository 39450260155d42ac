${{ 'apple' < 'banana' }}
