//go:build !linux

package binpages

import "errors"

// Release does nothing here: it reads Linux's /proc.
func Release() (int64, error) { return 0, errors.ErrUnsupported }
