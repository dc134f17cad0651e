"""Wire shapes shared by the API's internal endpoints and the agents.

The one contract between the control plane and a host: a versioned desired-state document per
host (what should run there) and an observed-state report (what does). Both sides import this
package; it imports nothing of theirs.
"""
