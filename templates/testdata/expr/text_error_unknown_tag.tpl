{% frobnicate %}
