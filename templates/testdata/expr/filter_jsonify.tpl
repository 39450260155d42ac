${{ parameters.nested | jsonify }}
