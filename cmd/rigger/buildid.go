package main

import (
	"bytes"
	"debug/elf"
	"os"

	sdkworker "go.temporal.io/sdk/worker"
)

// nameWorkerBinary names this executable to Temporal's SDK (its "binary
// checksum", recorded with every workflow task a worker completes) by the
// Go build ID the linker wrote into it, when there is one: otherwise the
// SDK hashes the whole executable (~250 MB, ~0.3 s of CPU, more on a busy
// machine) on the start path of the first worker, the embedded server's
// own included. The build ID is as unique to a build as that hash is.
// Without an ELF build-ID note the SDK's default stands.
func nameWorkerBinary() {
	if id := goBuildID(); id != "" {
		sdkworker.SetBinaryChecksum("go-build-id:" + id)
	}
}

// goBuildID reads the running executable's Go build ID from its
// .note.go.buildid ELF note ("" if it has none).
func goBuildID() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	f, err := elf.Open(exe)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil {
		return ""
	}
	data, err := s.Data()
	if err != nil || len(data) < 16 {
		return ""
	}
	// An ELF note: name size, descriptor size, type, then the name
	// ("Go\x00\x00") and the descriptor (the build ID).
	order := f.ByteOrder
	nameSize, descSize := order.Uint32(data[0:4]), order.Uint32(data[4:8])
	name := data[12:]
	if uint32(len(name)) < (nameSize+3)&^3+descSize || !bytes.Equal(bytes.TrimRight(name[:nameSize], "\x00"), []byte("Go")) {
		return ""
	}
	desc := name[(nameSize+3)&^3:][:descSize]
	return string(desc)
}
