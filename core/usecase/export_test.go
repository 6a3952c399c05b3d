package usecase

// SweepClaims is the periodic sweep's claims step, for tests.
var SweepClaims = (*Service).sweepClaims
