"""Staff: accounts, roles and what each may do, and the audit log of their actions."""
