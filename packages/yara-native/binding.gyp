{
  "targets": [
    {
      "target_name": "yara_native",
      "sources": ["src/yara-native.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O2", "<!@(pkg-config --cflags yara)"],
      "libraries": ["<!@(pkg-config --libs yara)"]
    }
  ]
}
