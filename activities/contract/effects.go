package contract

// inRunOnly are the actions whose effects stay inside the run: they touch
// only its workspace (or read the template's skeletons and the catalog),
// or they are the workflow's own waits. Every other action — publishing,
// GitHub, AWS, Terraform, catalog:register, HTTP requests, external
// actions — reaches outside.
var inRunOnly = map[string]bool{
	"debug:log": true, ActionWait: true, "fs:write": true, "fs:delete": true, "fs:rename": true,
	"fetch:plain": true, "fetch:plain:file": true, "fetch:template": true, "fetch:cookiecutter": true,
	"catalog:write": true, "catalog:fetch": true, ActionApproval: true, ActionWaitFor: true,
}

// HasOutsideEffects says whether action can change something outside the
// run: `rigger template test` fakes such actions, and a run an agent
// starts stops for a person's approval before the first of them.
func HasOutsideEffects(action string) bool { return !inRunOnly[action] }
