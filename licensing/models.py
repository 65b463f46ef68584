"""Tables of this app arrive with its issue; cases of its domain live in cases.Case."""
