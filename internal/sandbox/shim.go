package sandbox

// ShimEnv is the environment variable that makes the helper binary a shim
// (see [Runner.Shim]): its value is the path of the shim's spec file. The
// helper's entry point calls [ShimMain] when it is set.
const ShimEnv = "RIGGER_SANDBOX_SPEC"

// Shimmed says how to start a tool prepared by [Runner.Shim]: in the
// tool's place, run Exe with the library's own arguments and an
// environment holding EnvKey=EnvValue.
type Shimmed struct {
	// Exe is the helper binary, started instead of the tool.
	Exe string
	// EnvKey and EnvValue are the variable naming the spec file
	// (EnvKey is ShimEnv). The tool never sees it.
	EnvKey, EnvValue string
	// Warning is non-empty when the policy let the tool run with less
	// confinement than the Spec asks for, or on a kernel that leaves a
	// tool able to signal the worker; it says what.
	Warning string
}
