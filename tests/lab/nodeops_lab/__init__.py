"""nodeops test lab: a real kubeadm cluster in podman node containers.

The components are the real ones, built from the pinned k8s.io/kubernetes
module (tests/lab/k8s); ``nodeops_lab.lab`` brings the cluster up and down,
``nodeops_lab.images`` writes the images the nodes run.  docs/lab.md lists
what is real and the little that is not.
"""
