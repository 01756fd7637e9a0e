/* placeholder: sim/digiwatt-sim.c is being written */
