{
  "targets": [
    {
      "target_name": "malpipe_native",
      "sources": ["src/addon.cc", "src/beacon-scan.cc", "src/fuzzy-hash.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O3"]
    }
  ]
}
