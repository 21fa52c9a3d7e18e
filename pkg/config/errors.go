package config

import (
	"fmt"

	"github.com/containernetworking/cni/pkg/types"
)

// invalid is a bad value in the netconf (CNI code 7).
func invalid(format string, a ...any) *types.Error {
	return types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf(format, a...), "")
}

// undecodable is stdin that is not a JSON object at all (CNI code 6).
func undecodable(format string, a ...any) *types.Error {
	return types.NewError(types.ErrDecodingFailure, fmt.Sprintf(format, a...), "")
}

// badArgs is a malformed CNI_ARGS (CNI code 4).
func badArgs(format string, a ...any) *types.Error {
	return types.NewError(types.ErrInvalidEnvironmentVariables, fmt.Sprintf(format, a...), "")
}
