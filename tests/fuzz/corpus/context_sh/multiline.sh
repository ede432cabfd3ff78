SSH_PUBLIC_KEY='ssh-ed25519 AAAA a@b
ssh-rsa BBBB'
C=plain\ word # c
