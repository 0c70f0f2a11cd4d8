module github.com/tenantml/tenantml/bench/xgboost

go 1.26.0

require github.com/tenantml/tenantml v0.0.0

replace github.com/tenantml/tenantml => ../..
