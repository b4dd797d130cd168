package dots

// NewValidatorFor builds a validator over a spec of a test's own.
var NewValidatorFor = newValidator
