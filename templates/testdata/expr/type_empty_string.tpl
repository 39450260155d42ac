${{ parameters.empty }}
