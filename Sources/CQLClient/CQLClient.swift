// Connections, pools and the cluster session.
