//go:build !faultinject

package main

// faultPoint is nil in the shipped binary: no fault point does anything.
var faultPoint func(string)
