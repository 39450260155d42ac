// This folder is a TypeScript project: this file keeps it (and its
// node_modules, which hold Go files of their own) out of the Rigger module's ./... .
module github.com/riggerdev/rigger/examples/plugins/ts-greeter

go 1.26
