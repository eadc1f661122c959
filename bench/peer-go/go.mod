module lbguard.dev/bench/peer-go

go 1.19
