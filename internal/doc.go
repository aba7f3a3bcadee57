// Package internal holds what two or more weft packages share. Nothing here
// is part of the public API; see the subpackages.
package internal
