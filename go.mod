module github.com/wfpwatch/wfpwatch

go 1.26
