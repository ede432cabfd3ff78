# CPack: cloudtwin-agent and cloudtwin-host, DEB and RPM.
