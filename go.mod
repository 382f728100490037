module github.com/wfpwatch/wfpwatch

go 1.26.0

require (
	github.com/go-ole/go-ole v1.3.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
	golang.org/x/text v0.44.0
)
