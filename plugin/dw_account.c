/* placeholder: plugin/dw_account.c is being written */
