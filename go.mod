module github.com/rstscope/rstscope

go 1.26.8
