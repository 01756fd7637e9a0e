/* placeholder: dw_fleet.c is being written */
