package db

// Test-only access to the migrator's internals for the external test
// package, which needs dbtest (importing dbtest from package db itself would
// be an import cycle).

// WithAfterStatement returns opts with a hook run after each executed
// schema statement; an error from it simulates a crash at that point.
func WithAfterStatement(opts MigrateOptions, hook func(stmt string) error) MigrateOptions {
	opts.afterStatement = hook
	return opts
}

// SplitStatements is splitStatements, for loading test DDL files.
var SplitStatements = splitStatements

// The lock the tests take to simulate another migrate holding it.
const PGLockSQL = pgLockSQL

// MySQLLockName is mysqlLockName.
var MySQLLockName = mysqlLockName
