"""nodeops test lab: simulated Kubernetes pieces used to exercise the collection.

Nothing in this package is a real Kubernetes component. ``nodeops_lab.apiserver``
is a simulation of a kube-apiserver (plus a few controllers, a scheduler and a
kubelet stand-in for "simulated" nodes) that is good enough for kubectl, the
official ``kubernetes`` Python client and the kubernetes.core Ansible modules.
"""
