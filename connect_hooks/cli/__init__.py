"""The command line: the program, its commands, options and the people's rendering (Rich lives only here)."""
