/* placeholder: to be written */ extern int rr_placeholder_unused;
