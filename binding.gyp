{
  "targets": [
    {
      "target_name": "dicap_native",
      "sources": ["<!@(ls -1 native/src/*.cc)"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "libraries": ["-lpthread", "-lbpf", "-lpcap"],
      "actions": [
        {
          "action_name": "selection_bpf",
          "inputs": ["native/bpf/selection.bpf.c", "native/bpf/selection_abi.h"],
          "outputs": ["<(PRODUCT_DIR)/selection.bpf.o"],
          "action": ["sh", "-c", "clang -O2 -g -target bpf -mcpu=v3 -I/usr/include/<!(uname -m)-linux-gnu -c native/bpf/selection.bpf.c -o <(PRODUCT_DIR)/selection.bpf.o"]
        }
      ]
    }
  ]
}
