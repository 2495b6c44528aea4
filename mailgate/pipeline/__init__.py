"""From a stored message to its final state: claim, decide (parse, proof, rules), dispatch."""
